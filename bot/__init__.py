"""dunbot: a payment-collection mail bot."""

__version__ = "0.1.0"
