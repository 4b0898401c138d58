"""The only code that writes. One module per capability; every function takes ``actor=``."""
