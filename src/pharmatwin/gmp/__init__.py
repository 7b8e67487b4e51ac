"""GMP records (layer 6): users and roles, permissions, sessions; audit trail, e-signatures,
batch records and genealogy follow. Stored in the historian's database (21 CFR Part 11 and
EU GMP Annex 11 ask for unique user accounts, limited access and secure passwords)."""
