using System.Xml.Linq;

namespace SerSync.Configuration;

/// <summary>Checks a document's shape against <see cref="ConfigSchema"/> before any value is read: unknown or
/// duplicated elements, unknown attributes and stray text, failing on the first one found.</summary>
internal sealed class ConfigShapeChecker(ConfigErrors errors)
{
    public void Check(XElement element, ElementSpec spec)
    {
        foreach (var attr in element.Attributes())
        {
            if (attr.Name.Namespace != XNamespace.None || Array.IndexOf(spec.Attributes, attr.Name.LocalName) < 0)
            {
                var allowed = spec.Attributes.Length == 0 ? "none" : string.Join(", ", spec.Attributes);
                throw errors.Fail(attr, $"unknown attribute '{attr.Name}' on <{spec.Name}>; allowed here: {allowed}");
            }
        }

        var seen = new Dictionary<string, XElement>(StringComparer.Ordinal);
        foreach (var node in element.Nodes())
        {
            switch (node)
            {
                case XText text when !string.IsNullOrWhiteSpace(text.Value):
                    throw errors.Fail(text, $"unexpected text {ConfigText.Quote(text.Value.Trim())} inside <{spec.Name}>; only elements and " +
                        "<!-- comments --> belong here (the '#' notes in blog copies of confxml.xml are not XML)");
                case XElement child:
                    var childSpec = child.Name.Namespace == XNamespace.None ? spec.Child(child.Name.LocalName) : null;
                    if (childSpec == null)
                    {
                        throw errors.Fail(child, UnknownElement(child, spec));
                    }

                    if (!childSpec.Repeated)
                    {
                        if (seen.TryGetValue(childSpec.Name, out var first))
                        {
                            throw errors.Fail(child, $"duplicate <{childSpec.Name}> inside <{spec.Name}> (the first is at line {ConfigSourcePositions.LineOf(first)}); only one is allowed");
                        }

                        seen[childSpec.Name] = child;
                    }

                    if (spec == ConfigSchema.Head && childSpec.Name == "plugin")
                    {
                        childSpec = PluginSpec(child);
                    }

                    Check(child, childSpec);
                    break;
            }
        }
    }

    private static string UnknownElement(XElement child, ElementSpec spec)
    {
        var allowed = spec.Children.Length == 0
            ? "nothing (it takes no child elements)"
            : string.Join(", ", spec.Children.Select(c => $"<{c.Name}>"));
        var hint = spec.Children.FirstOrDefault(c => string.Equals(c.Name, child.Name.LocalName, StringComparison.OrdinalIgnoreCase));
        var didYouMean = hint != null ? $" (names are case-sensitive: did you mean <{hint.Name}>?)" : "";
        return $"unknown element <{child.Name}> inside <{spec.Name}>{didYouMean}; allowed here: {allowed}";
    }

    private ElementSpec PluginSpec(XElement plugin)
    {
        var name = plugin.Attribute("name") ?? throw errors.Fail(plugin, $"<plugin> has no name attribute; expected name=\"{string.Join("|", ConfigSchema.PluginNames)}\"");
        return ConfigSchema.PluginSections.TryGetValue(name.Value, out var spec)
            ? spec
            : throw errors.Fail(name, $"unknown plugin name {ConfigText.Quote(name.Value)}; expected one of {string.Join(", ", ConfigSchema.PluginNames)}");
    }
}
