using System.Globalization;
using System.Text.Json;

namespace StepWiser.ML.Samples.Commands;

/// <summary>A user error on the command line: printed as one line, exit code 2, no stack trace.</summary>
internal sealed class CliException(string message) : Exception(message);

/// <summary>
/// Shared helpers of the commands, and the app's exit codes (docs/cli.md): 0 done; 2 bad input (an option, a file, a
/// checkpoint: nothing was done); 3 finished with failures the user did not allow (e.g. annotation prefixes whose
/// rollouts failed: their solutions got no labels); 4 the work failed (a policy server kept failing, I/O, out of
/// memory); 130 cancelled. Every error is one <c>error: …</c> line on stderr; set STEPWISER_DEBUG=1 to see the stack trace.
/// </summary>
internal static class Cli
{
    public const int BadInput = 2;
    public const int PartialFailure = 3;
    public const int WorkFailed = 4;
    public const int Cancelled = 130;

    /// <summary>
    /// No tokenizer of a supported model makes tokens longer than this many characters on average, so a text longer
    /// than this many times a context cannot fit it and is refused without being tokenized.
    /// </summary>
    public const int MaxCharactersPerToken = 16;

    /// <summary>Prints a one-line error and returns the bad-input exit code.</summary>
    public static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {OneLine(message)}");
        return BadInput;
    }

    /// <summary>The one-line report and exit code of an exception that reached the top of a command.</summary>
    public static int Report(Exception e)
    {
        if (e is AggregateException { InnerExceptions.Count: 1 } single) e = single.InnerExceptions[0];
        var code = e switch
        {
            OperationCanceledException => Cancelled,
            CliException or ArgumentException or InvalidDataException or FormatException or JsonException or FileNotFoundException
                or DirectoryNotFoundException or NotSupportedException or KeyNotFoundException or Training.MemoryPlanException => BadInput,
            _ => WorkFailed,
        };
        var what = e switch
        {
            OperationCanceledException => "cancelled",
            OutOfMemoryException => $"out of memory ({e.Message})",
            HttpRequestException or IOException or UnauthorizedAccessException or Annotation.PolicyFailedException or CliException => e.Message,
            _ when code == BadInput => e.Message,
            _ => $"{e.GetType().Name}: {e.Message}",
        };
        Console.Error.WriteLine($"error: {OneLine(what)}");
        if (Environment.GetEnvironmentVariable("STEPWISER_DEBUG") is "1" or "true") Console.Error.WriteLine(e);
        return code;
    }

    /// <summary>A number for reports and progress lines: "n/a" where it is undefined (NaN), never "NaN".</summary>
    public static string Num(double value, string format = "F3") => double.IsNaN(value) ? "n/a" : value.ToString(format, CultureInfo.InvariantCulture);

    private static string OneLine(string message) => string.Join(" ", message.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    /// <summary>Parses a device name (cpu, cuda, cuda:1) and checks that this build can use it.</summary>
    public static TorchSharp.torch.Device Device(string name)
    {
        TorchSharp.torch.Device device;
        try { device = new TorchSharp.torch.Device(name); }
        catch (Exception e) { throw new CliException($"--device: unknown device '{name}' ({e.Message}); use cpu, cuda or cuda:N"); }
        if (device.type is not (TorchSharp.DeviceType.CPU or TorchSharp.DeviceType.CUDA))
            throw new CliException($"--device {name}: only cpu, cuda and cuda:N are supported");
        if (device.type == TorchSharp.DeviceType.CUDA && !TorchSharp.torch.cuda.is_available())
            throw new CliException($"--device {name}: CUDA is not available in this build (this app was built with TorchSharp-cpu; rebuild it with -p:TorchBackend=cuda, see docs/dependencies.md)");
        if (device.type == TorchSharp.DeviceType.CUDA && device.index >= TorchSharp.torch.cuda.device_count())
            throw new CliException($"--device {name}: this machine has {TorchSharp.torch.cuda.device_count()} CUDA device(s), numbered from 0");
        return device;
    }

    /// <summary>Parses a weight type: fp32 (float32), bf16 (bfloat16) or fp16 (float16).</summary>
    public static TorchSharp.torch.ScalarType DType(string name) => name.ToLowerInvariant() switch
    {
        "fp32" or "float32" => TorchSharp.torch.ScalarType.Float32,
        "bf16" or "bfloat16" => TorchSharp.torch.ScalarType.BFloat16,
        "fp16" or "float16" => TorchSharp.torch.ScalarType.Float16,
        _ => throw new CliException($"--dtype: unknown type '{name}'; use fp32, bf16 or fp16"),
    };

    /// <summary>
    /// The API key of a command: from the environment variable <paramref name="named"/> (<c>--api-key-env</c>), which
    /// must then be set, or else from <paramref name="defaultVariable"/> when that is set; (null, null) when neither.
    /// </summary>
    public static (string? Key, string? Variable) ApiKey(string command, string? named, string defaultVariable)
    {
        var variable = named ?? defaultVariable;
        var key = Environment.GetEnvironmentVariable(variable);
        if (!string.IsNullOrEmpty(key)) return (key, variable);
        if (named is not null) throw new CliException($"{command}: --api-key-env {named}: that environment variable is not set.");
        return (null, null);
    }

    /// <summary>Throws a one-line error naming <paramref name="option"/> unless <paramref name="value"/> ≥ <paramref name="min"/>.</summary>
    public static void AtLeast(string option, long value, long min)
    {
        if (value < min) throw new CliException(string.Create(CultureInfo.InvariantCulture, $"{option} must be at least {min} (got {value})"));
    }

    /// <summary>Throws a one-line error naming <paramref name="option"/> unless <paramref name="value"/> is a finite number in the range.</summary>
    public static void InRange(string option, double value, double min, double max, bool minExclusive = false)
    {
        if (!double.IsFinite(value) || value < min || (minExclusive && value == min) || value > max)
            throw new CliException(string.Create(CultureInfo.InvariantCulture,
                $"{option} must be {(minExclusive ? "greater than" : "at least")} {min}{(double.IsPositiveInfinity(max) ? "" : $" and at most {max}")} (got {value})"));
    }

    /// <summary>
    /// Checks before any work that an output file can be written: its folder exists and is writable and it is not a
    /// folder (that it overwrites no input is <see cref="PathGuard"/>'s check, made first).
    /// </summary>
    public static void CheckOutputFile(string option, string path)
    {
        var full = Path.GetFullPath(path);
        if (Directory.Exists(full)) throw new CliException($"{option} {path}: is a folder; give a file path");
        var folder = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(folder)) throw new CliException($"{option} {path}: folder {folder} does not exist");
        CheckWritable(option, path, folder);
    }

    /// <summary>Checks before any work that an output folder can be created (or exists) and is writable.</summary>
    public static void CheckOutputFolder(string option, string path)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(full)) throw new CliException($"{option} {path}: is a file; give a folder");
        var existing = full;
        while (!Directory.Exists(existing)) existing = Path.GetDirectoryName(existing) ?? throw new CliException($"{option} {path}: no existing parent folder");
        CheckWritable(option, path, existing);
    }

    private static void CheckWritable(string option, string path, string folder)
    {
        var probe = Path.Combine(folder, $".stepwiser-write-check-{Environment.ProcessId}");
        try
        {
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new CliException($"{option} {path}: folder {folder} is not writable ({e.Message})");
        }
    }
}
