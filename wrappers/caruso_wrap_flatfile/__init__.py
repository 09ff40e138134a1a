"""A mainframe-style fixed-width customer master behind the interface ``caruso.customer-master/1``."""
