"""The one definition of every message on HotelMate's bus."""

from .envelope import Envelope, Message, UnknownMessageType, parse, register, wrap
from .money import Money, from_minor, minor_units, round_money, to_minor
from .pricing import CancellationPolicy, HotelProfile, NightRate, Quote, TaxLine
from .saga import *  # noqa: F401,F403  (every message class)
