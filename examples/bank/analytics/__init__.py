"""The bank vertical with the analytics layer: where the bank vertical's history feeds the models."""
