//! An emulator inside a Rust program: start it on a free port with an in-memory world, read what
//! clients need, move its clock, stop it. `cargo run --example in_process`

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let running = azureml_emulator::Emulator::start(azureml_emulator::Config::default())?; // port 0, in memory
    println!("{}", running.url); // https://127.0.0.1:PORT; running.info() has CA paths and credentials
    running.clock().advance(time::Duration::hours(1))?;
    println!("emulator time: {}", running.clock().now());
    running.stop(); // or drop it
    Ok(())
}
