fn main() {
    let policy = citadel_checks::Policy::embedded();
    let system = citadel_checks::System::new(citadel_checks::SystemRoot::new("/"));
    for check in citadel_checks::CHECKS {
        println!("{} {:?}", check.id, (check.run)(&policy, &system).status());
    }
}
