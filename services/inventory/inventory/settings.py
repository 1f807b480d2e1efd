from hotelmate_platform.settings import ServiceSettings


class InventorySettings(ServiceSettings):
    service_name = "inventory"
    # Where availability and quotes are cached (inventory/cache.py): empty for each process's memory
    # (the default, the faster one measured), or a redis:// URL for one cache shared by every replica.
    inventory_catalog_cache_url: str = ""
    inventory_catalog_cache_ttl_seconds: float = 3600.0
