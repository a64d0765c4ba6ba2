import ArgumentParser

/// The `nightcap` command: batch evaluation of image-captioning models.
@main
struct Nightcap: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "nightcap",
        abstract: "Caption images from HDF5 region features, score them like coco-caption, keep it all in SQLite.",
        subcommands: [Run.self, Runs.self, Show.self, Compare.self, Export.self, Score.self, Inspect.self])
}
