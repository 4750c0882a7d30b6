"""`python -m mirrord_ls`: the same as the `mirrord-ls` command."""

from mirrord_ls.cli import main

raise SystemExit(main())
