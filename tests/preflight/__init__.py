"""Tests of mirrord_ls.cluster.preflight: the pure operator-path rules and their facts."""
