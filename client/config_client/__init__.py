"""Client library for the config server (and any Spring Cloud Config server)."""

from config_client.wire import Environment, PropertySource, PropertyValue

__all__ = ["Environment", "PropertySource", "PropertyValue"]
