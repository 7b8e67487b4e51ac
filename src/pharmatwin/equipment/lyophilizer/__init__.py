"""Freeze dryer (lyophilizer): primary-drying physics, cycle programmes, simulation, design
space and cycle optimization, the virtual freeze dryer and its online twin."""
