"""The application server: join server, events to applications, (REST API and integrations to come)."""
