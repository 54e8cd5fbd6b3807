"""Deliberation (议事协商): a township's consultations on recurring problems
(/participation/consultations/), with public outcomes on /open/consultations/."""
