"""The service vertical with the analytics layer: where the service vertical's history feeds the models."""
