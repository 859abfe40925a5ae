import ArgumentParser
import ShanyrakCrypto
import ShanyrakStore

/// The program's entry point: settles process-wide settings, then runs the `Shanyrak` command.
@main
enum Entry {
    static func main() async {
        // Before any key is read or file created: no core dumps, files for their owner only.
        if let problem = ProcessHardening.apply() { printError("shanyrak: warning: \(problem)") }
        // Before anything reads the environment (Foundation included) or any other thread starts: keys and
        // tokens given in environment variables go to locked memory and leave the environment block
        // (/proc/PID/environ), so that nothing can read or inherit them there.
        _ = EnvironmentSecrets.process
        // Before any command opens a database (see `SQLiteProcessSettings.apply`).
        SQLiteProcessSettings.apply()
        await Shanyrak.main()
    }
}
