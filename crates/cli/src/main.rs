mod demo_data;

fn main() {}
