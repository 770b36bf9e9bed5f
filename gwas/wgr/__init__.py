"""Whole-genome regression (REGENIE-style): step 1 LOCO predictions and their files."""
