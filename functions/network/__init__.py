"""The network server: Lambdas started by IoT rules (uplinks, TX acks, gateway events) and by the
application server (class C downlinks). See README.md for the pipeline and its tables."""
