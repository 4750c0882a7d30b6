"""Tests of mirrord_ls.cluster: kubeconfig resolution and credentials."""
