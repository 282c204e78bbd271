//! The fixers of the layout checks (`required_tools`, `directory_structure`, `model_directories`, `symlinks`,
//! `scripts`) on copies of the fixture trees: what each plans on a broken tree, that applying the plan makes its
//! check pass and a second plan empty, that nothing is planned on a compliant tree, and that data in the way and
//! unmounted storage are refused and left exactly as they were.

#[path = "../common/fixture_tree.rs"]
mod tree;

mod directory_structure;
mod model_directories;
mod required_tools;
mod scenarios;
mod scripts;
mod symlinks;
