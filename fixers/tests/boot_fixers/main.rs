//! The fixers of the boot-time checks (`trim_timer`, `backup_cron`) on copies of the fixture trees: what each
//! plans on a broken tree, that applying the plan (file actions written, kernel actions pending under a tree)
//! makes its check pass or leaves it pending or refused as designed, that a second plan is empty, that nothing is
//! planned on a compliant tree, and how every fixture scenario that breaks one of them ends.

#[path = "../common/fixture_tree.rs"]
mod tree;

mod backup_cron;
mod scenarios;
mod trim_timer;
