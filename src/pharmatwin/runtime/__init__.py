"""Layer 5: twins bound to plant data; plant records and exports."""
