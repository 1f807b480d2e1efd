from hotelmate_platform.settings import ServiceSettings


class InventorySettings(ServiceSettings):
    service_name = "inventory"
