fn main() -> std::process::ExitCode {
    synccenter::cli::main()
}
