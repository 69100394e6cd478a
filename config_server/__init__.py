"""A pull-based configuration server that speaks the Spring Cloud Config wire protocol."""

__version__ = "0.1.0"
