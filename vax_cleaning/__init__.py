"""vax_cleaning: link Covid-19 dose records to the population registry."""
