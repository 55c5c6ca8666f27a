"""The three tiers — sessions in RAM, persistent stores, the vault — with no Jupyter imports."""
