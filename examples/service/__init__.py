"""The service-company vertical: installed base, service contracts with SLAs, warranty, field service, knowledge base."""
