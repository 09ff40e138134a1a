"""A legacy billing database behind ``caruso.billing/1``: mapped by the modeler, not programmed."""
