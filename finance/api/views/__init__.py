"""The finance API's views, one module per domain; `finance/api/urls.py` routes them."""
