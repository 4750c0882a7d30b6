"""A bare pygls language server that does nothing: the start-up baseline for mirrord-ls."""

from pygls.lsp.server import LanguageServer

server = LanguageServer("bare", "0")

if __name__ == "__main__":
    server.start_io()
