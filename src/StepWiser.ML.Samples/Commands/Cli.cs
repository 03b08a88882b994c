namespace StepWiser.ML.Samples.Commands;

/// <summary>A user error on the command line: printed as one line, exit code 2, no stack trace.</summary>
internal sealed class CliException(string message) : Exception(message);

/// <summary>Shared helpers of the commands.</summary>
internal static class Cli
{
    /// <summary>Prints a one-line error and returns the usage-error exit code.</summary>
    public static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 2;
    }

    /// <summary>Parses a device name (cpu, cuda, cuda:1).</summary>
    public static TorchSharp.torch.Device Device(string name)
    {
        try { return new TorchSharp.torch.Device(name); }
        catch (Exception e) { throw new CliException($"unknown device '{name}': {e.Message}"); }
    }
}
