// Placeholder until the recommenders land.
