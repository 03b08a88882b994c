using System.Text.Json;
using StepWiser.ML.Data;
using StepWiser.ML.Models;

namespace StepWiser.ML.Training;

/// <summary>
/// Periodic training checkpoints: <c>checkpoint-NNNNNN/</c> folders holding the model in Hugging Face layout,
/// <c>optimizer.safetensors</c> (AdamW moments) and <c>trainer_state.json</c> (step and the settings that decide
/// the data order). A checkpoint is written whole to a hidden folder beside it, flushed to the disk and swapped in
/// (<see cref="AtomicFolder"/>), so a crash mid-write never leaves a partial checkpoint that resume would pick up, and
/// no fixed temporary name can meet a folder of the user's.
/// </summary>
public static class TrainingCheckpoint
{
    private const string Prefix = "checkpoint-";

    /// <summary>What a checkpoint records besides weights and optimiser state.</summary>
    /// <param name="Step">Updates completed.</param>
    /// <param name="Fingerprint">Settings that must match to resume (seed, batch size, ...), as text.</param>
    /// <param name="Extra">Trainer-specific values (e.g. RNG positions), as text.</param>
    public sealed record State(long Step, string Fingerprint, Dictionary<string, string>? Extra = null);

    /// <summary>Writes a checkpoint of <paramref name="model"/> and <paramref name="optimizer"/> at <paramref name="state"/>.Step and prunes old ones.</summary>
    public static string Save(string root, CausalLM model, AdamW optimizer, State state, int keep)
    {
        Directory.CreateDirectory(root);
        string final = Path.Combine(root, $"{Prefix}{state.Step:D6}");
        AtomicFolder.Write(final, folder =>
        {
            HuggingFaceCheckpoint.Save(model, folder);
            SafeTensorsWriter.Write(Path.Combine(folder, "optimizer.safetensors"), optimizer.StateTensors());
            File.WriteAllText(Path.Combine(folder, "trainer_state.json"), JsonSerializer.Serialize(state));
        });
        foreach (var old in List(root).SkipLast(keep)) Directory.Delete(old.Path, recursive: true);
        return final;
    }

    /// <summary>Complete checkpoints under <paramref name="root"/>, oldest first.</summary>
    public static IReadOnlyList<(long Step, string Path)> List(string root)
    {
        if (!Directory.Exists(root)) return [];
        return Directory.GetDirectories(root, Prefix + "*")
            .Where(d => File.Exists(Path.Combine(d, "trainer_state.json")))
            .Select(d => (Step: long.TryParse(Path.GetFileName(d)[Prefix.Length..], out var s) ? s : -1, Path: d))
            .Where(x => x.Step >= 0).OrderBy(x => x.Step).ToArray();
    }

    /// <summary>
    /// Restores the newest checkpoint under <paramref name="root"/> into <paramref name="model"/> and <paramref name="optimizer"/>;
    /// returns its state, or null when there is none.
    /// </summary>
    /// <exception cref="InvalidOperationException">The checkpoint was written with settings that change the run.</exception>
    public static State? TryRestore(string? root, CausalLM model, AdamW optimizer, string fingerprint)
    {
        if (root is null) return null;
        var latest = List(root).LastOrDefault();
        if (latest.Path is null) return null;
        var state = JsonSerializer.Deserialize<State>(File.ReadAllText(Path.Combine(latest.Path, "trainer_state.json")))
            ?? throw new InvalidDataException($"{latest.Path}/trainer_state.json is empty.");
        if (state.Fingerprint != fingerprint)
            throw new InvalidOperationException($"Cannot resume from {latest.Path}: it was written with settings '{state.Fingerprint}', the run now uses '{fingerprint}'. Use another checkpoint folder or the same settings.");
        HuggingFaceCheckpoint.LoadWeights(model, latest.Path);
        optimizer.LoadState(SafeTensorsFile.Open(Path.Combine(latest.Path, "optimizer.safetensors")), state.Step);
        return state;
    }
}
