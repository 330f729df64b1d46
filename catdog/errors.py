"""The one exception type for problems a user can cause or fix."""


class CatdogError(Exception):
    """An error with a message written for a student, shown as-is in the page.

    Raised for bad settings (a data folder that does not exist), bad input
    (an upload that is not an image) and missing resources (MobileNetV2
    weights with no network).  Pages catch it and call ``st.error(str(err))``;
    anything else is a bug.
    """
