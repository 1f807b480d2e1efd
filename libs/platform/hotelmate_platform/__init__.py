"""HotelMate's shared plumbing: settings, database and unit of work, messaging, problems, app factory."""
