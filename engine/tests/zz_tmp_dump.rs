use docket_engine::calendar::Calendars;
use docket_engine::validate::{Env, check};
#[test]
fn dump() {
    let calendars: Vec<String> = Calendars::shipped().unwrap().iter().map(|c| c.id().to_owned()).collect();
    let flows = vec!["legal-review".to_owned(), "all-features".to_owned(), "penalty-general".to_owned()];
    let env = Env { calendars: &calendars, flows: &flows };
    let mut files: Vec<_> = std::env::var("DUMP").unwrap().split(',').map(str::to_owned).collect();
    files.sort();
    for f in files {
        let src = std::fs::read_to_string(&f).unwrap();
        let c = check(&src, &env);
        println!("== {f}");
        for p in &c.problems { println!("{}", p.display_in(f.rsplit('/').next().unwrap())); }
    }
}
