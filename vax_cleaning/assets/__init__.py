"""Software-defined assets, one module per pipeline stage."""
