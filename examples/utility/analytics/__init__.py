"""The utility vertical with the analytics layer: where the utility vertical's history feeds the models."""
