"""One record on every device (0.3): the identity kept in the vault, the exchange (what a
device has, what it lacks) and one module per transport."""
