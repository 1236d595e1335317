//! `azureml-emulator`: parses the command line and hands over to the library.

fn main() -> std::process::ExitCode {
    azureml_emulator::cli::main()
}
