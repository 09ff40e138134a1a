"""An ERP behind the interface ``caruso.erp/1``: sales orders and invoice status over XML-RPC."""
