"""Server-rendered pages, one module per area; disclosure/urls.py routes to them."""
