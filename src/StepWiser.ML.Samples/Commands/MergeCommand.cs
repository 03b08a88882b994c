using System.CommandLine;
using StepWiser.ML.Annotation;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// <c>merge</c>: combines the rollout stores of one annotation run's shards (<c>annotate --shard i/n --store …</c> on
/// several machines) into one store, which <c>annotate --store</c> then reads as if one machine had sampled everything.
/// Stores of different runs (another policy, prompt format, rollout count, temperature, length or seed) are refused,
/// naming the two files and the setting that differs; the sources are only read.
/// </summary>
internal static class MergeCommand
{
    public static Command Create()
    {
        var stores = new Option<DirectoryInfo[]>("--store") { Description = "A rollout store folder to merge; repeat it for each shard's store.", Required = true };
        var output = new Option<DirectoryInfo>("--output") { Description = "The merged store folder (created; an existing store of the same run is added to).", Required = true };
        var command = new Command("merge", "Merge the rollout stores of one annotation run's shards into one store.") { stores, output };
        command.SetAction(parse =>
        {
            var sources = parse.GetValue(stores)!.Select(s => s.FullName).ToArray();
            var target = parse.GetValue(output)!.FullName;
            var guard = new PathGuard();
            foreach (var s in sources)
            {
                if (!Directory.Exists(s)) return Cli.Fail($"merge: --store {s} does not exist.");
                guard.InputFolder("--store", s);
            }
            if (sources.Distinct(StringComparer.Ordinal).Count() != sources.Length) return Cli.Fail("merge: a --store is given twice; give each store once.");
            guard.OutputFolder("--output", target).Check();
            Cli.CheckOutputFolder("--output", target);
            var count = RolloutStore.Merge(sources, target);
            Console.WriteLine($"merged {sources.Length} stores into {target}: it holds {count:N0} prefixes");
            return 0;
        });
        return command;
    }
}
