"""Layer 4: connectors that bring plant data in (OPC UA, MQTT with JSON or Sparkplug B)."""
