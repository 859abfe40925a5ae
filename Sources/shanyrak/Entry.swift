import ArgumentParser
import ShanyrakStore

/// The program's entry point: settles process-wide settings, then runs the `Shanyrak` command.
@main
enum Entry {
    static func main() async {
        // Before any command opens a database (see `SQLiteProcessSettings.apply`).
        SQLiteProcessSettings.apply()
        await Shanyrak.main()
    }
}
