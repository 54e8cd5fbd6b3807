from django.urls import path

from . import views

app_name = "accounts"

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("login/verify/", views.login_verify, name="login_verify"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("me/", views.profile, name="profile"),
    path("me/two-factor/", views.two_factor, name="two_factor"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("api-keys/", views.apikey_list, name="apikeys"),
    path("api-keys/<int:pk>/rotate/", views.apikey_rotate_view, name="apikey_rotate"),
    path("api-keys/<int:pk>/revoke/", views.apikey_revoke_view, name="apikey_revoke"),
]
