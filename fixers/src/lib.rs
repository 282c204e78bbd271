//! citadel-fixers: primitive actions (plan, dry-run diff, atomic apply) and the ten fixers.
