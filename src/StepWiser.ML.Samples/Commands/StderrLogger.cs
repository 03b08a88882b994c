using Microsoft.Extensions.Logging;

namespace StepWiser.ML.Samples.Commands;

/// <summary>
/// Writes warnings and errors (a remote policy's retries and back-off) to stderr as one line each, prefixed with a
/// source name, so a slow or failing server is never silent. Messages never contain the API key (the client does not
/// log it).
/// </summary>
internal sealed class StderrLogger(string source) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (!IsEnabled(logLevel)) return;
        Console.Error.WriteLine($"{source}: {formatter(state, exception)}");
    }
}
